"""The GPU node agent: registers and stakes, accepts assigned tasks it can finish, renders them with the
pinned Blender build in a subprocess, pins the frames to IPFS and submits the result CID."""
