"""The benchmark of the whole cycle at province and national scale (see bench/README.md)."""
