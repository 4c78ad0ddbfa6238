"""Slack as a face of Escalator, beside the API, the console and the CLI.

The root message of each incident carries buttons chosen by its state (``core/announce.py``
draws them); a click, a modal's submit or ``/escalator`` arrives signed, over HTTP
(``api/slack.py``) or Socket Mode (``socket.py``), and lands in ``face.py``, which maps the
Slack user to a person of the process file and calls the same use cases as the API, as that
person, ``via="slack"`` (each timeline event says so). ``views.py`` draws the modals and reads
their answers; ``doctor.py`` checks the set-up.
"""
