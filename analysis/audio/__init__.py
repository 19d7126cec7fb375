"""Audio measurement for intake: plain numpy/scipy/soundfile code, no Django (see
intake-analysis.md). Entry points: measure.measure_file, isolate.analyze_file, findings."""
