"""The Qt desktop interface: a thin layer over :mod:`qdbm_desktop.core`."""
