// The console's own script. The Content-Security-Policy runs no inline script and no on…=
// attribute, so behaviour lives here: a <select data-autosubmit> submits its form on change.
document.addEventListener("change", function (event) {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.submit();
  }
});
