"""What several test files share: tiny models built from a config, literal rows, fake Hub doubles."""
