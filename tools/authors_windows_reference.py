#!/usr/bin/python3
"""The authors' CNN-RNN windows, computed by their own code path: the loop of
`Image_dataset._read_dataset` in run_pretrained_model.py (pandas `iloc[start:end]`, padded with
`DataFrame.append(new_df.iloc[-1])`), then `save_to_file`'s merge
(`np.unique(frames_ids, return_index=True)`, the first occurrence of each frame wins).

For each (seq_len, L) it prints the windows' frame ids, and the kept frames with the flat index
(window · seq_len + position) each is taken from; src/models/seed/seed-windows.authors.test.ts
embeds a selection as literal data. Windows are flattened window-major (one window per batch, so
the authors' (N, B) collate order does not enter). Needs pandas < 2 (DataFrame.append); CI never
runs this. From the repo root, with Debian's python3-pandas:

    /usr/bin/python3 tools/authors_windows_reference.py            # the embedded selection
    /usr/bin/python3 tools/authors_windows_reference.py --all      # L = 1..70 at seq_len 32 and 6
"""
import json
import warnings
import sys

import numpy as np
import pandas as pd

warnings.simplefilter('ignore', FutureWarning)  # DataFrame.append, as the authors call it


def authors_windows(length, seq_len):
    data = pd.DataFrame.from_dict({'path': [f'{i:05d}.jpg' for i in range(length)], 'frames_ids': np.arange(length)})
    sample_seqs = []
    n = seq_len
    for i in range(len(data['path']) // n + 1):
        start, end = i * n, i * n + seq_len
        if end >= len(data):
            start, end = len(data) - seq_len, len(data)
        new_df = data.iloc[start:end]
        if not len(new_df) == seq_len:
            assert len(new_df) < seq_len
            count = seq_len - len(new_df)
            for _ in range(count):
                new_df = new_df.append(new_df.iloc[-1])
        assert len(new_df) == seq_len
        sample_seqs.append(new_df)
    return [[int(x) for x in df['frames_ids']] for df in sample_seqs]


def merged(windows):
    flat = np.array([x for w in windows for x in w])
    frames, index = np.unique(flat, return_index=True)
    return [int(f) for f in frames], [int(i) for i in index]


SELECTION = {32: [1, 15, 16, 17, 20, 31, 32, 33, 63, 64, 65], 6: list(range(1, 14))}

if __name__ == '__main__':
    cases = {s: list(range(1, 71)) for s in (32, 6)} if '--all' in sys.argv else SELECTION
    out = []
    for seq_len, lengths in cases.items():
        for length in lengths:
            windows = authors_windows(length, seq_len)
            frames, source = merged(windows)
            out.append({'seqLen': seq_len, 'length': length, 'windows': windows, 'frames': frames, 'source': source})
    print(json.dumps(out))
