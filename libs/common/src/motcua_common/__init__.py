"""Code shared by every motcua service (see ARCHITECTURE.md, "Shape of one service")."""
