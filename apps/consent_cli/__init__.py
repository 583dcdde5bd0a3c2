"""The `consent` command: the registry's subcommands (`cli`) and the office workspace's
(`office`: serve, users, backup, restore, takedowns)."""
