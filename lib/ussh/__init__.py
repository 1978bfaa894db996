"""ussh: a small SSH server for MicroPython boards, the same code on CPython."""

VERSION = "0.1.0"
