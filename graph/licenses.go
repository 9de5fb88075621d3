package graph

var licenseTools = []tool{}
