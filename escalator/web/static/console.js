// The console's own script. The Content-Security-Policy runs no inline script and no on…=
// attribute, so behaviour lives here.
"use strict";

// a <select data-autosubmit> submits its form on change
document.addEventListener("change", function (event) {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.submit();
  }
});

// a page answered to a form's POST (an action refused) carries the page it belongs to: the
// address bar shows that page again, so reloading does not post the form a second time
(function () {
  const canonical = document.body.getAttribute("data-canonical");
  if (canonical && window.location.pathname !== canonical) {
    window.history.replaceState(null, "", canonical);
  }
})();

// the server's clock less the browser's: countdowns and "ago" read the server's time
const skew = (function () {
  const now = Date.parse(document.body.getAttribute("data-now") || "");
  return isNaN(now) ? 0 : now - Date.now();
})();
function serverNow() { return Date.now() + skew; }

// countdown badges tick between refreshes: "due in 12 min" / "overdue 3 min"
function countdown(seconds) {
  const span = Math.abs(seconds);
  let amount;
  if (span < 60) amount = span + " s";
  else if (span < 7200) amount = Math.floor(span / 60) + " min";
  else if (span < 86400) amount = Math.floor(span / 3600) + "h" + (Math.floor(span / 60) % 60 ? Math.floor(span / 60) % 60 + "m" : "");
  else amount = Math.floor(span / 86400) + "d";
  return seconds <= 0 ? "overdue " + amount : "due in " + amount;
}

function relative(date) {
  const seconds = Math.round((serverNow() - date.getTime()) / 1000);
  const span = Math.abs(seconds);
  let amount;
  if (span < 60) amount = span + " s";
  else if (span < 7200) amount = Math.floor(span / 60) + " min";
  else if (span < 172800) amount = Math.floor(span / 3600) + " h";
  else amount = Math.floor(span / 86400) + " days";
  return seconds >= 0 ? amount + " ago" : "in " + amount;
}

function tick() {
  document.querySelectorAll(".clock-badge[data-due]").forEach(function (badge) {
    const due = Date.parse(badge.getAttribute("data-due"));
    if (isNaN(due)) return;
    const left = Math.round((due - serverNow()) / 1000);
    const text = badge.querySelector(".clock-left");
    if (text) text.textContent = countdown(left);
    badge.classList.toggle("overdue", left <= 0);
    badge.classList.toggle("soon", left > 0 && left <= 900);
    badge.classList.toggle("running", left > 900);
  });
}
setInterval(tick, 15000);

// a timestamp shows how long ago it was on hover (its title keeps the full local time)
document.addEventListener("mouseover", function (event) {
  const el = event.target instanceof Element ? event.target.closest("time[datetime]") : null;
  if (!el) return;
  const full = el.getAttribute("data-full") || el.getAttribute("title") || "";
  el.setAttribute("data-full", full);
  const when = new Date(el.getAttribute("datetime"));
  if (!isNaN(when.getTime())) el.setAttribute("title", relative(when) + " · " + full);
});

// keyboard, as PagerDuty and Linear users expect: j/k move in lists, Enter opens,
// a acknowledges, / searches
function typing(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function move(step) {
  const rows = Array.from(document.querySelectorAll("[data-row]"));
  if (!rows.length) return;
  const at = rows.findIndex(function (row) { return row.classList.contains("current"); });
  const next = rows[Math.min(rows.length - 1, Math.max(0, at < 0 ? 0 : at + step))];
  rows.forEach(function (row) { row.classList.remove("current"); row.removeAttribute("aria-current"); });
  next.classList.add("current");
  next.setAttribute("aria-current", "true");
  const link = next.querySelector("a");
  if (link) link.focus();
}

document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (event.key === "j") { move(1); event.preventDefault(); }
  else if (event.key === "k") { move(-1); event.preventDefault(); }
  else if (event.key === "/") {
    const search = document.querySelector("[data-search]");
    if (search) { search.focus(); event.preventDefault(); }
  } else if (event.key === "a") {
    const ack = document.querySelector("button[data-key=a]");
    if (ack) { ack.click(); event.preventDefault(); }
  } else if (event.key === "?") {
    const help = document.getElementById("shortcuts");
    if (help) help.toggleAttribute("open");
  }
});

// a table wider than a phone scrolls sideways; keyboard users reach it with Tab to scroll it
function focusableScrollers() {
  document.querySelectorAll("table, .scroll, pre").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth + 1) {
      if (!box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
    } else if (box.getAttribute("tabindex") === "0" && !box.matches("a, button, input, select, textarea")) {
      box.removeAttribute("tabindex");
    }
  });
}
document.addEventListener("DOMContentLoaded", focusableScrollers);
window.addEventListener("resize", focusableScrollers);
document.addEventListener("htmx:afterSettle", focusableScrollers);
