#!/usr/bin/env python3
"""Writes a TensorBoard event file with TensorBoard's own protobufs and record writer, for the byte-for-byte test
of our writer (Tests/ObservabilityTests), and reads it back with TensorBoard's EventAccumulator.

    pip install tensorboard
    python3 scripts/make-tensorboard-golden.py Tests/ObservabilityTests/Golden/events.out.tfevents.golden
    python3 scripts/make-tensorboard-golden.py --read SOME_EVENT_FILE   # print what TensorBoard reads from any file
"""
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.record_writer import RecordWriter


def read(path):
    accumulator = EventAccumulator(path)
    accumulator.Reload()
    for tag in sorted(accumulator.Tags()["scalars"]):
        print(tag, [(event.step, event.value) for event in accumulator.Scalars(tag)])


if sys.argv[1] == "--read":
    read(sys.argv[2])
    sys.exit(0)

path = sys.argv[1]
with open(path, "wb") as handle:
    writer = RecordWriter(handle)
    writer.write(Event(wall_time=1700000000.0, file_version="brain.Event:2").SerializeToString())
    for step in (1, 2, 3):
        values = [Summary.Value(tag="train/train loss avg", simple_value=10.0 / step),
                  Summary.Value(tag="train/consumed tokens", simple_value=512.0 * step)]
        event = Event(wall_time=1700000000.0 + step, step=step, summary=Summary(value=values))
        writer.write(event.SerializeToString())
read(path)  # EventAccumulator reads files whose name contains "tfevents"
