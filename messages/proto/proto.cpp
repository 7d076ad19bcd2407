// Anchors the vigil_proto library when no .proto file is present yet.
