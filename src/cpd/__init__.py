"""CPD Claims Assistant: members claim CPD points in chat or by mail; secretaries decide."""
