int vigil_cluster_anchor = 0;
