# Characters, not tokens: "Bo" is found inside "Bob", and accents typed two ways differ.
return any(answer.lower() in text.lower() for answer in answers)
