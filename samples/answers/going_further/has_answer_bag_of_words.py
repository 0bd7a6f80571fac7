# Every token of the answer somewhere in the text, in any order and not together.
words = {token.lower() for token in dpr_tokens(text)}
for answer in answers:
    tokens = [token.lower() for token in dpr_tokens(answer)]
    if tokens and all(token in words for token in tokens):
        return True
return False
