int vigil_node_anchor = 0;
