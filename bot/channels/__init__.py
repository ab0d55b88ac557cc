"""Channel adapters: console, Telegram and Matrix, each on the `bot.channel.Channel` interface."""
