"""Test support shared by several test packages: fault proxy, fuzzing seeds, VIHF helpers."""
