# Crashes the interpreter: a null pointer read segfaults the process running this code.
import ctypes
ctypes.string_at(0)
