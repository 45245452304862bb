#!/usr/bin/python3
"""Peer check: the instrument set Debian's python3-mido gives under Scale's playback semantics.

Reads file paths (one per line) on stdin, writes TSV: path, "ok" or "error:<ExceptionType>", sorted codes.
Rules (docs/instrument-semantics.md): programs start at 0; a Note On with velocity > 0 on channel index 9 is
the drum kit (128), otherwise the channel's current program; formats 0/1 merge tracks by absolute tick, ties by
track index then position; format 2 tracks are independent.
"""
import sys

import mido


def instruments(path):
    mid = mido.MidiFile(path)
    found = set()
    if mid.type == 2:
        sequences = [[(0, i, j, m) for j, m in enumerate(absolute(t))] for i, t in enumerate(mid.tracks)]
    else:
        merged = []
        for i, track in enumerate(mid.tracks):
            merged.extend((tick, i, j, m) for j, (tick, m) in enumerate(absolute(track)))
        merged.sort(key=lambda e: (e[0], e[1], e[2]))
        sequences = [[(t, i, j, m) for (t, i, j, m) in merged]]
    for seq in sequences:
        programs = [0] * 16
        for item in seq:
            msg = item[3][1] if isinstance(item[3], tuple) else item[3]
            if msg.type == 'program_change':
                programs[msg.channel] = msg.program
            elif msg.type == 'note_on' and msg.velocity > 0:
                found.add(128 if msg.channel == 9 else programs[msg.channel])
    return sorted(found)


def absolute(track):
    tick = 0
    out = []
    for msg in track:
        tick += msg.time
        out.append((tick, msg))
    return out


for line in sys.stdin:
    path = line.rstrip('\n')
    try:
        codes = instruments(path)
        print(f"{path}\tok\t{','.join(map(str, codes))}")
    except Exception as e:  # noqa: BLE001 - any failure of the peer is "peer could not parse"
        print(f"{path}\terror:{type(e).__name__}\t")
    sys.stdout.flush()
