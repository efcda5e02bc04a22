"""The matyan-backend command line and the ops jobs it runs."""
