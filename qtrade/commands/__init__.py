"""Sub-commands of the qtrade CLI, one module each."""
