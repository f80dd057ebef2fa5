"""pipeline.py with its three slow stages under joblib.Memory.

    python pipeline_joblib.py DATA.csv REPORT.txt JOBLIB_DIR

The stages are imported from the ``pipeline.py`` next to this file (the copy
the benchmark edits), so both tools run the same code; only ``report``, the
edited stage, runs uncached, as it does under rote (which does not store a
call that writes a file).
"""

import sys

import joblib
import pipeline

if __name__ == "__main__":
    data_path, report_path, cache_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    memory = joblib.Memory(cache_dir, verbose=0)
    parse = memory.cache(pipeline.parse)
    aggregate = memory.cache(pipeline.aggregate)
    train = memory.cache(pipeline.train)
    visits = parse(data_path)
    features = aggregate(visits)
    model = train(features)
    pipeline.report(features, model, report_path)
