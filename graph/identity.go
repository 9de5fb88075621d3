package graph

var identityTools = []tool{}
