package graph

var deviceTools = []tool{}
