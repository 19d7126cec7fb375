"""Audio measurement for intake: plain numpy/scipy/soundfile code, no Django (see
intake-analysis.md). One verb, three depths: isolate.measure_isolated (one file in a child
process, with its findings: what the worker and `manage.py analyze` run), isolate.measure_in_process
(the same in this process) and measure.measure_file (the meter alone, no findings)."""
