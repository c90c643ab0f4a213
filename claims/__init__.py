"""The channel-neutral claims workflow: members, standings, and (issue 4) claim intake and
decisions. Channels call this package; they never open a database session themselves."""
