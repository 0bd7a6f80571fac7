# Never returns: every test that calls forward must time out, score 0, and let grading go on.
while True:
    pass
