# Tokens in order, but never lower-cased: "nine mile" is not in "Nine Mile".
words = dpr_tokens(text)
for answer in answers:
    tokens = dpr_tokens(answer)
    if tokens and any(words[i:i + len(tokens)] == tokens for i in range(len(words) - len(tokens) + 1)):
        return True
return False
