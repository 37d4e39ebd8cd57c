"""The ``dmp`` command: the same core as the window, without Qt."""
