package graph

var groupTools = []tool{}
