"""The course's autograder: build the release, grade submissions, validate, make expectations.

Run ``python -m autograder --help``.
"""
