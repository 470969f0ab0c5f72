"""Training machinery shared by every model: samplers, (later) the engine and checkpoints."""
