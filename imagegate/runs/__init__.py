"""Many photos: the one fail-closed check of one photo that every door calls, the one worker pool,
the batch, the watched folder and its journal. The only part that starts processes.
"""
