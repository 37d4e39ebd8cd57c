"""The training host ("mode formation"): a local DMP host speaking the real wire."""
