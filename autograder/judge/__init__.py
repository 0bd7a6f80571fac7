"""The trust boundary. The judge runs the instructor's notebook (notebook) with proxies for what the
student wrote (student); each call runs in a confined child (child, sandbox, limits) and only
data comes back (transport). The server keeps notebooks prepared for a grading run; reference
runs the solutions for the checks; redact cleans what reaches the student."""
