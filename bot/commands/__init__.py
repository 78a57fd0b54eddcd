"""The `palaute` commands, one module each: `add_<name>_parser(commands, add_config)` registers
the command's arguments and `cmd_<name>(args, config)` runs it (bot/cli.py wires them)."""
