"""Agentless remote collection over SFTP (docs/ssh.md). The environment variables a scan or a
distributed sweep's worker reads its SSH login from (never argv): imported without asyncssh."""

IDENTITY_ENV = "KEYSWEEP_SSH_IDENTITY"
KNOWN_HOSTS_ENV = "KEYSWEEP_SSH_KNOWN_HOSTS"
PASSPHRASE_ENV = "KEYSWEEP_SSH_PASSPHRASE"
