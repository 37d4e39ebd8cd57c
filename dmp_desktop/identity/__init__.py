"""The patient's identity (INS and strict traits) and the coherence of what is sent.

Qt-free: :mod:`~dmp_desktop.identity.traits` (the identity and its source),
:mod:`~dmp_desktop.identity.coherence` (comparing what a document or the
metadata state with the INS identity, before anything is sent).
"""
