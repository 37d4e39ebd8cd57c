"""The DMP's rules, once: what the ``dmp`` command and the window both call. No Qt.

Each module is one family of use cases over a DMP client (``dmp_desktop.dmp.client``)
and the local encrypted stores; the CLI (``dmp_desktop.cli``) calls them
directly, the Qt services (``dmp_desktop.services``) run them in background
operations and answer with signals. Neither door re-implements a rule.

- :mod:`.access`: consent (never automatic), emergency access and its reason,
  what the consultation shows;
- :mod:`.consultation`: the list (scope, 2-year default, filters), finding and
  opening a document;
- :mod:`.upload`: who may send, the patient's objection, the outbox and who owns
  what waits in it, and identity coherence before anything is sent;
- :mod:`.documents`: visibility, mask, archive, delete;
- :mod:`.vsm`: the patient's VSMs (one lookup), « my previous VSM », sending a VSM;
- :mod:`.records`: creation with consent, closure, reactivation, who may act;
- :mod:`.patients`: finding the patient (INS or name and birth date, INSi then
  TD0.5, « Mes patients DMP » TD0.4, recent patients) and the identity every
  sending is checked against.

Refusals are typed (:mod:`.errors`); ``dmp_desktop.errors.describe`` gives their
French. See docs/usecases.md for where each rule lives.
"""
