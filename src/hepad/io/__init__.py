"""I/O both studies use: downloads of the public files (with checksums), HDF5 opening with
one-line errors, atomic writes. The dijet formats live in hepad.resonant.formats, the shower
format in hepad.calo.showers."""
