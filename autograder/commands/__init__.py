"""The command line's verbs, one module each: build, grade, validate, expect, publish, bench,
story; and the stand-in checkpoint and the secret scan, which run as modules of their own."""
