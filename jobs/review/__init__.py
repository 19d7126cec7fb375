"""The review room: waveforms, streaming playback, loudness-matched A/B, comments pinned to the
track, file versions and guest links. A Django app of its own (label `review`) inside `jobs`."""
