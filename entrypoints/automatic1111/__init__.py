"""AUTOMATIC1111's `/sdapi/v1`, as far as its clients (Open WebUI, SillyTavern, LibreChat,
`webuiapi`, GIMP plug-ins) use it: a translator from its requests to ours and from our
jobs to its answers. Nothing of it reaches `domain/` or `application/`."""
