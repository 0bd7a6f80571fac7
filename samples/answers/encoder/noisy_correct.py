# Correct, but noisy: a warning and a progress bar on stderr must not cost any points.
import warnings
from tqdm.auto import tqdm
warnings.warn("this encoder is very verbose")
for _ in tqdm(range(2)):
    pass
return self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]
