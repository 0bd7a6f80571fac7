# Correct, another way: the tokens joined by spaces, searched as a string padded with spaces.
joined = " " + " ".join(dpr_tokens(text)).lower() + " "
for answer in answers:
    tokens = dpr_tokens(answer)
    if tokens and " " + " ".join(tokens).lower() + " " in joined:
        return True
return False
