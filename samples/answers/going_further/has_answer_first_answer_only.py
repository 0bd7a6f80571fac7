# Only the first answer is tried.
if not answers:
    return False
words = [token.lower() for token in dpr_tokens(text)]
tokens = [token.lower() for token in dpr_tokens(answers[0])]
return bool(tokens) and any(words[i:i + len(tokens)] == tokens for i in range(len(words) - len(tokens) + 1))
