"""OpenAI's images API under `/v1` (`images.generate`, `images.edit`, `models.list`): a
translator from its requests to ours and from our jobs to its answers. Nothing of it
reaches `domain/` or `application/`."""
