module github.com/kserve-gen/kserve-gen

go 1.26
