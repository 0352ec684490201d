import("../dist/old-bundle/main.js").then(async m=>{process.exitCode=await m.main(process.argv.slice(2))})
